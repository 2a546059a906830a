"""``config.count`` as ``Config.ClientUser`` computes it (see the package docstring)."""

from __future__ import annotations


class Counts:
    """The counts part of ``FakePhotoPrism`` (a mixin: the state is the fake's)."""

    def counts(self) -> dict[str, int]:
        """``config.count`` as the real ``ClientUser`` computes it (features private, review and
        archive on; no missing or broken primaries in the fake). See the module docs."""
        with self._lock:
            if self._counts_cache is None:
                self._counts_cache = self._compute_counts()
            counts = dict(self._counts_cache)
        drift = self.faults.count_drift
        if drift:
            counts = {k: v + drift for k, v in counts.items()}
        return counts

    def _compute_counts(self) -> dict[str, int]:
        c = dict.fromkeys(
            [
                "all",
                "photos",
                "live",
                "videos",
                "cameras",
                "lenses",
                "countries",
                "hidden",
                "archived",
                "favorites",
                "review",
                "stories",
                "private",
                "albums",
                "private_albums",
                "moments",
                "private_moments",
                "months",
                "private_months",
                "states",
                "private_states",
                "folders",
                "private_folders",
                "files",
                "people",
                "places",
                "labels",
                "labelMaxPhotos",
            ],
            0,
        )
        if self.new_api:
            c.update(media=0, animated=0, audio=0, documents=0)
        other_types = (
            ("live", "video", "animated", "audio", "document")
            if self.new_api
            else ("live", "video")
        )
        for p in self._photos.values():
            for f in p.files:
                if f.root == "/":
                    c["files"] += 1
            if p.archived:
                if p.quality > -1:
                    c["archived"] += 1
                continue
            q_ok = p.quality > -1
            if p.quality == -1:
                c["hidden"] += 1
            if 0 <= p.quality <= 2:
                c["review"] += 1
            if p.private and q_ok:
                c["private"] += 1
            if not q_ok or p.private:
                continue
            if p.favorite:
                c["favorites"] += 1
            if p.type == "video":
                c["videos"] += 1
            elif p.type == "live":
                c["live"] += 1
            elif self.new_api and p.type in ("animated", "audio"):
                c[p.type] += 1
            elif self.new_api and p.type == "document":
                c["documents"] += 1
            elif p.type not in other_types:
                c["photos"] += 1
        for a in self._albums.values():
            if a.deleted_at is not None:
                continue
            key = {
                "album": "albums",
                "moment": "moments",
                "month": "months",
                "state": "states",
                "folder": "folders",
            }.get(a.type)
            if key:
                c[key] += 1
                if a.private:
                    c["private_" + key] += 1
        if self.new_api:
            c["media"] = c["animated"] + c["live"] + c["videos"] + c["audio"]
            c["all"] = c["photos"] + c["media"] + c["documents"]
        else:
            c["all"] = c["photos"] + c["live"] + c["videos"]
        c["all"] -= c["review"]
        return c
