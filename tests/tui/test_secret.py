"""The designer never shows a LUKS passphrase (issue 7)."""

from __future__ import annotations

from pathlib import Path

from tui.app import PartwrightApp
from tui.document import mask_secrets

SECRET = "correct-horse-battery-staple"


def test_mask_secrets_hides_passphrases_not_key_files() -> None:
    xml = f'<type image="oem" luks="{SECRET}" luks_version="luks2"/>'
    assert SECRET not in mask_secrets(xml) and 'luks_version="luks2"' in mask_secrets(xml)
    assert "file:///etc/key" in mask_secrets('<type luks="file:///etc/key"/>')


async def test_xml_tab_masks_the_passphrase(tmp_path: Path) -> None:
    desc = tmp_path / "luks.kiwi"
    desc.write_text(
        f'<type image="oem" filesystem="ext4" firmware="efi" luks="{SECRET}">'
        '<size unit="G">8</size></type>\n')
    app = PartwrightApp.open(desc)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        text, ok = app.document.xml_text(app.layout)
        assert ok and SECRET not in text and "luks=" in text
        assert SECRET not in app.title and SECRET not in (app.sub_title or "")
