"""Page routers, assembled.

The design names this `academy/web.py`; it lives here because `web/` is a package.
"""

from fastapi import APIRouter, Depends

from academy.web import account, coach, curator, dev, homework, lab, learn, live, ops, public, studio
from academy.web.forms import csrf_protect
from academy.web.lab import live as lab_live

router = APIRouter(include_in_schema=False)
router.include_router(ops.router)
router.include_router(live.router)
router.include_router(lab_live.router)
pages = APIRouter(dependencies=[Depends(csrf_protect)])
pages.include_router(public.router)
pages.include_router(account.router)
pages.include_router(learn.router)
pages.include_router(studio.router)
pages.include_router(lab.router)
pages.include_router(coach.router)
pages.include_router(curator.router)
pages.include_router(homework.router)
pages.include_router(dev.router)
router.include_router(pages)
