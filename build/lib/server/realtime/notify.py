"""Notifier: the only code that emits to Socket.IO rooms.

Callers decide *what* happened; this module decides who may see it and in which shape
(payloads.py). Everything here runs after the change is stored.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import socketio
from bson import ObjectId

from server.models import Flag, Message, Principal, Room
from server.realtime.registry import Registry
from server.wire import events
from server.wire.payloads import flag_payload, message_payload, room_payload, user_public
from server.wire.receive_rules import ReceiveRuleViolation, may_receive


class Notifier:
    def __init__(self, sio: socketio.AsyncServer, registry: Registry) -> None:
        self._sio = sio
        self._registry = registry

    async def emit(self, event: str, data: Any, to: str | list[str], skip_sid: str | list[str] | None = None) -> None:
        await self._sio.emit(event, data, to=to, skip_sid=skip_sid)

    async def message_new(self, message: Message) -> None:
        """Held messages reach only their author and the room's counselors/staff."""
        room_id = message.room_id
        if message.status == "visible" and not message.flag_ids and message.moderation is None:
            # Nothing role-specific in it: one emit serves patients and moderators alike.
            payload = message_payload(message, moderator=False)
            await self.emit(events.MESSAGE_NEW, payload, [events.room_patients(room_id), events.room_mods(room_id)])
            return
        await self.emit(events.MESSAGE_NEW, message_payload(message, moderator=True), events.room_mods(room_id))
        if message.status == "held":
            if message.author_role == "patient":
                await self.emit(
                    events.MESSAGE_NEW,
                    message_payload(message, moderator=False),
                    events.room_user(room_id, message.author_id),
                )
            return
        await self.emit(events.MESSAGE_NEW, message_payload(message, moderator=False), events.room_patients(room_id))

    async def message_updated(self, message: Message, *, released: bool = False, peers_see: bool = True) -> None:
        """On release, peers who never had the held message get it as message:new; a
        change to a message peers never had reaches only its author and moderators."""
        room_id = message.room_id
        await self.emit(events.MESSAGE_UPDATED, message_payload(message, moderator=True), events.room_mods(room_id))
        patient_view = message_payload(message, moderator=False)
        if message.status == "held" or not (peers_see or released):
            if message.author_role == "patient":
                await self.emit(events.MESSAGE_UPDATED, patient_view, events.room_user(room_id, message.author_id))
            return
        if released:
            author_room = events.room_user(room_id, message.author_id)
            await self.emit(events.MESSAGE_UPDATED, patient_view, author_room)
            await self._emit_except(events.MESSAGE_NEW, patient_view, events.room_patients(room_id), author_room)
            return
        await self.emit(events.MESSAGE_UPDATED, patient_view, events.room_patients(room_id))

    async def message_withdrawn(self, message: Message) -> None:
        """A visible message is held after the fact (a late verdict): moderators and the
        author see it held; peers get the tombstone they get when a counselor hides one."""
        room_id = message.room_id
        await self.emit(events.MESSAGE_UPDATED, message_payload(message, moderator=True), events.room_mods(room_id))
        author_room = events.room_user(room_id, message.author_id)
        await self.emit(events.MESSAGE_UPDATED, message_payload(message, moderator=False), author_room)
        tombstone = {**message_payload(message, moderator=False), "status": "hidden", "text": None}
        await self._emit_except(events.MESSAGE_UPDATED, tombstone, events.room_patients(room_id), author_room)

    async def _emit_except(self, event: str, data: Any, room: str, excluded_room: str) -> None:
        skip = [sid for sid, _ in self._sio.manager.get_participants("/", excluded_room)]
        await self.emit(event, data, room, skip_sid=skip or None)

    async def room_updated(self, room: Room, pinned: Message | None) -> None:
        await self.emit(events.ROOM_UPDATED, room_payload(room, pinned, moderator=True), events.room_mods(room.id))
        await self.emit(events.ROOM_UPDATED, room_payload(room, pinned, moderator=False), events.room_patients(room.id))

    async def typing(self, room_id: ObjectId, principal: Principal, typing: bool, sid: str) -> None:
        payload = {"room_id": str(room_id), "user": self._user(principal), "typing": typing}
        await self.emit(
            events.TYPING, payload, [events.room_patients(room_id), events.room_mods(room_id)], skip_sid=sid
        )

    async def presence(self, room_id: ObjectId, principal: Principal, online: bool) -> None:
        payload = {"room_id": str(room_id), "user": self._user(principal), "online": online}
        await self.emit(events.PRESENCE, payload, [events.room_patients(room_id), events.room_mods(room_id)])

    async def alert(self, event: str, flag: Flag, rooms: Iterable[str], skip_sid: list[str] | None = None) -> None:
        targets = sorted(set(rooms))
        patient_rooms = [name for name in targets if not events.is_moderator_room(name)]
        if patient_rooms:
            raise ReceiveRuleViolation(f"{event} addressed to rooms patients are in: {patient_rooms}")
        if targets:
            await self.emit(event, flag_payload(flag), targets, skip_sid=skip_sid)

    async def to_user(self, user_id: ObjectId, event: str, data: Any) -> None:
        await self.emit(event, data, events.user_room(user_id))

    async def to_sid(self, sid: str, event: str, data: Any) -> None:
        """One socket. The receive rule is checked here because a direct send bypasses the
        role-separated rooms (the connect-time flag leak went through this door)."""
        conn = self._registry.get(sid)
        if conn is not None and not may_receive(conn.principal.role, event):
            raise ReceiveRuleViolation(f"{conn.principal.role} socket may not receive {event}")
        await self._sio.emit(event, data, to=sid)

    @staticmethod
    def _user(principal: Principal) -> dict[str, Any]:
        return user_public(principal.user_id, principal.display_name, principal.role)
