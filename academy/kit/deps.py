from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends

from academy.kit.uow import UnitOfWork


async def get_uow() -> AsyncIterator[UnitOfWork]:
    uow = UnitOfWork()
    try:
        yield uow
    except BaseException as exc:
        # Some failures must keep what the service wrote (e.g. revoking a stolen token family).
        if getattr(exc, "keep_changes", False):
            await uow.commit()
        else:
            await uow.rollback()
        raise
    else:
        await uow.commit()
    finally:
        await uow.session.close()


# scope="function": commit before the response is sent, so a failed commit is never reported as success.
UoW = Annotated[UnitOfWork, Depends(get_uow, scope="function")]
