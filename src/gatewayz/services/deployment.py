"""The deployment's id: made once, at random, by the first start on a database (migration
0008) and the same for every process and instance that shares that database. It names the
deployment's keys in a Redis that other deployments may share."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from gatewayz.db.tables import deployment


async def deployment_id(engine: AsyncEngine) -> str:
    async with engine.connect() as conn:
        found = (await conn.execute(select(deployment.c.id))).scalar_one()
    return str(found)
