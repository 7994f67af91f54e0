"""The desktop entry, the .v2m MIME type and the icons are well-formed and agree with each other;
core.resources finds the shipped folders in a checkout."""
from __future__ import annotations

import configparser
import shutil
import struct
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from v2m_desktop.core.model.checkpoint import SHIPPED
from v2m_desktop.core.resources import models_dir, resource, shipped_dir

ROOT = Path(__file__).resolve().parents[2]
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
MIME = "application/x-v2m-project"


def desktop_entry() -> dict[str, str]:
    cp = configparser.ConfigParser(interpolation=None, strict=True)
    cp.optionxform = str          # keys are case-sensitive
    cp.read(resource("v2m-desktop.desktop"), encoding="utf-8")
    return dict(cp["Desktop Entry"])


def test_checkout_lookup_finds_the_top_level_folders():
    assert models_dir() == ROOT / "models"
    assert SHIPPED["chords"] == ROOT / "models" / "chords.pt" and SHIPPED["chords"].is_file()
    assert resource("v2m-desktop.desktop") == ROOT / "resources" / "v2m-desktop.desktop"
    with pytest.raises(ValueError):
        shipped_dir("v2m_desktop")


def test_desktop_entry_opens_videos_and_projects():
    e = desktop_entry()
    assert e["Type"] == "Application" and e["Terminal"] == "false"
    assert e["Exec"].split() == ["v2m-desktop", "%f"]     # the app takes one path
    assert e["Icon"] == "v2m-desktop" and e["StartupWMClass"] == "v2m-desktop"
    types = e["MimeType"].rstrip(";").split(";")
    assert MIME in types and "video/mp4" in types and "video/x-matroska" in types
    assert all(t.count("/") == 1 for t in types)
    assert e["Categories"].endswith(";") and "AudioVideo" in e["Categories"].split(";")


@pytest.mark.skipif(shutil.which("desktop-file-validate") is None, reason="desktop-file-utils not installed")
def test_desktop_entry_validates():
    r = subprocess.run(["desktop-file-validate", str(resource("v2m-desktop.desktop"))],
                       capture_output=True, text=True)
    assert r.returncode == 0 and not r.stdout.strip(), r.stdout + r.stderr


def test_mime_type_globs_v2m_projects():
    ns = {"m": "http://www.freedesktop.org/standards/shared-mime-info"}
    root = ET.parse(resource("v2m-desktop-mime.xml")).getroot()
    (mt,) = root.findall("m:mime-type", ns)
    assert mt.get("type") == MIME
    assert [g.get("pattern") for g in mt.findall("m:glob", ns)] == ["*.v2m"]
    assert mt.find("m:sub-class-of", ns).get("type") == "application/json"
    assert mt.find("m:generic-icon", ns).get("name") == desktop_entry()["Icon"]


def test_icons_svg_and_every_png_size():
    svg = ET.parse(resource("icons/v2m-desktop.svg")).getroot()
    assert svg.tag == "{http://www.w3.org/2000/svg}svg" and svg.get("viewBox") == "0 0 256 256"
    for size in SIZES:
        data = resource(f"icons/v2m-desktop-{size}.png").read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        width, height, depth, colour = struct.unpack(">IIBB", data[16:26])
        assert (width, height) == (size, size)
        assert colour == 6            # RGBA: the rounded corners are transparent
