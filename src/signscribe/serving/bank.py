"""The sign bank over REST (``/v1/bank``): each API key (or, without keys, the server) has its own
bank under ``DATA_DIR/banks``, compared with the server's default model; the web page teaches it
signs from the webcam. The schema is that of ``signscribe bank``.
"""
# No "from __future__ import annotations" here: FastAPI reads these signatures at run time.

import asyncio
import threading
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Query, Request, UploadFile

from signscribe.errors import SignscribeError
from signscribe.inference.bank import SignBank, model_embedder
from signscribe.serving.gate import Admitted
from signscribe.serving.security import ApiError, Caller
from signscribe.serving.work import WorkGuard, run_on_upload

bank_api = APIRouter(prefix="/v1/bank", tags=["sign bank"])
_writing = threading.Lock()  # one change to a bank at a time
Gloss = Annotated[
    str, Query(min_length=1, max_length=64, pattern=r"^[\w\-' ]*[\w\-'][\w\-' ]*$", description="The sign's name.")
]
Example = Annotated[UploadFile, File(description="A short video of the sign (MP4, WebM, ...).")]


def _bank(request: Request, caller: Caller) -> SignBank:
    """The caller's bank, comparing clips with the server's default model (made on first use)."""
    models = request.app.state.models
    owner = caller.owner if caller.key else "server"
    folder = request.app.state.settings.data_dir / "banks" / owner
    try:
        bank = SignBank.open(folder, models.default_id, create=True)
    except SignscribeError as error:
        raise ApiError(409, "bank_mismatch", str(error)) from error
    return bank.use(model_embedder(models.default, models.default_id))


def _described(bank: SignBank, caller: Caller) -> dict[str, Any]:
    """The bank's encoder, threshold and signs, and whether it is ``shared``: without an API key,
    every caller uses the server's one bank."""
    return {**bank.describe(), "shared": not caller.key}


@bank_api.get("")
async def describe(request: Request, caller: Admitted) -> dict[str, Any]:
    """The caller's bank: its encoder, threshold and signs with their numbers of examples, and
    `shared` (true without an API key: one bank for every such caller)."""
    return _described(_bank(request, caller), caller)


@bank_api.post("/signs")
async def add_sign(request: Request, caller: Admitted, gloss: Gloss, file: Example) -> dict[str, Any]:
    """Teach the bank a sign from one example clip (send more to add examples)."""

    def add(path: Path, name: str, guard: WorkGuard) -> dict[str, Any]:
        vector = _bank(request, caller).embed(path, guard)  # the slow part, with no lock held
        with _writing:  # read again, changed and written under the lock, so no other change is lost
            bank = _bank(request, caller)
            bank.add_vectors(gloss, vector[None], [name])
            bank.save()
            return _described(bank, caller)

    return await run_on_upload(request, file, add)


@bank_api.delete("/signs/{gloss}")
async def remove_sign(request: Request, caller: Admitted, gloss: str) -> dict[str, Any]:
    """Forget a sign."""

    def remove() -> dict[str, Any]:
        with _writing:
            bank = _bank(request, caller)
            if gloss not in bank.signs():
                raise ApiError(404, "sign_not_found", f"the bank has no sign {gloss!r}")
            bank.remove(gloss)
            bank.save()
            return _described(bank, caller)

    return await asyncio.to_thread(remove)  # the lock is never waited for on the event loop


@bank_api.post("/recognize")
async def recognize(
    request: Request,
    caller: Admitted,
    file: Example,
    top_k: Annotated[int, Query(ge=1, le=50)] = 5,
    threshold: Annotated[float | None, Query(ge=-1, le=1, description="Default: the bank's.")] = None,
) -> dict[str, Any]:
    """The sign of a clip among the bank's, or ``"sign": null`` (not a sign it knows)."""
    bank = _bank(request, caller)
    if not bank.examples:
        raise ApiError(409, "bank_empty", "the sign bank is empty: teach it signs first")
    match = await run_on_upload(request, file, lambda path, _, guard: bank.recognize(path, top_k, threshold, guard))
    nearest = [{"gloss": gloss, "similarity": similarity} for gloss, similarity in match.nearest]
    return {"sign": match.gloss, "similarity": match.similarity, "nearest": nearest}
