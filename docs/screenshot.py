"""Save an SVG screenshot of a real `papers chat` conversation on the bundled corpus (used in README.md).

Run: HF_HUB_OFFLINE=1 python docs/screenshot.py  (answers come from the store at PAPERS_STORE or store/).
"""

import asyncio
import os
import tempfile
from pathlib import Path

from assistant.config import Settings
from assistant.tui import PapersApp
from assistant.tui.widgets.prompt import PromptInput

QUESTIONS = ["Tell me about Orca-Math and grade school math.", "How many parameters does it have?"]


async def main() -> None:
    os.environ.setdefault("PAPERS_CHAT_DIR", tempfile.mkdtemp())
    app = PapersApp(Settings())
    async with app.run_test(size=(150, 40)) as pilot:
        while not getattr(app.screen, "ready", False):
            await pilot.pause(0.1)
        for question in QUESTIONS:
            app.screen.query_one(PromptInput).text = question
            await pilot.press("enter")
            await pilot.pause()
            await app.workers.wait_for_complete()
            await pilot.pause(0.3)
        app.screen.query_one(PromptInput).focus()
        await pilot.pause(0.3)
        path = Path(__file__).parent / "chat.svg"
        app.save_screenshot(filename=path.name, path=str(path.parent))
        print(path)


asyncio.run(main())
