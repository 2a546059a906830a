"""``GET /config`` and the settings it carries, as a user's session or the public config."""

from __future__ import annotations

from typing import Any


class ClientConfig:
    """The config part of ``FakePhotoPrism`` (a mixin: the state is the fake's)."""

    def _settings_json(self, full: bool) -> dict[str, Any]:
        features = {
            "account": True,
            "albums": True,
            "archive": True,
            "delete": self.delete_enabled,
            "download": True,
            "edit": True,
            "estimates": True,
            "favorites": True,
            "files": True,
            "folders": True,
            "import": self.import_enabled and not self.readonly,
            "labels": True,
            "library": True,
            "logs": True,
            "moments": True,
            "people": True,
            "places": True,
            "private": True,
            "ratings": True,
            "reactions": True,
            "review": True,
            "search": True,
            "services": True,
            "settings": True,
            "share": True,
            "upload": self.upload_enabled and not self.readonly,
            "videos": True,
        }
        if self.new_api:
            features["appPasswords"] = self.app_passwords_enabled
        if not full:
            features = {
                k: v
                for k, v in features.items()
                if k in ("albums", "download", "private", "search", "videos")
            }
        return {
            "ui": {
                "scrollbar": True,
                "zoom": False,
                "theme": "default",
                "language": "en",
                "timeZone": "",
            },
            "search": {"batchSize": 0},
            "features": features,
            "import": {"path": "/", "move": False},
            "index": {"path": "/", "convert": True, "rescan": False, "skipArchived": False},
            "download": {
                "name": "file",
                "disabled": False,
                "originals": True,
                "mediaRaw": False,
                "mediaSidecar": False,
            },
        }

    def _config_json(self, with_session: bool) -> dict[str, Any]:
        site = (self.url or "http://localhost:2342") + "/"
        cfg: dict[str, Any] = {
            "mode": "user" if with_session else "public",
            "name": "PhotoPrism",
            "about": "PhotoPrism®",
            "edition": "ce",
            "version": self.version,
            "copyright": "(c) 2018-2026 PhotoPrism UG. All rights reserved.",
            "flags": "settings",
            "baseUri": "",
            "staticUri": "/static",
            "cssUri": "/static/build/app.css",
            "jsUri": "/static/build/app.js",
            "manifestUri": "/manifest.json",
            "apiUri": "/api/v1",
            "contentUri": "/api/v1",
            "videoUri": "/api/v1",
            "siteUrl": site,
            "siteDomain": "127.0.0.1",
            "siteAuthor": "",
            "siteTitle": "PhotoPrism",
            "siteCaption": "AI-Powered Photos App",
            "siteDescription": "",
            "sitePreview": site + "static/img/preview.jpg",
            "legalInfo": "",
            "legalUrl": "",
            "appName": "PhotoPrism",
            "appMode": "standalone",
            "appIcon": "logo",
            "appColor": "#000000",
            "wallpaperUri": "",
            "restart": False,
            "debug": False,
            "trace": False,
            "test": False,
            "demo": False,
            "sponsor": False,
            "readonly": self.readonly,
            "uploadNSFW": True,
            "public": False,
            "authMode": "password",
            "usersPath": "users",
            "loginUri": "/library/login",
            "registerUri": "",
            "passwordLength": 8,
            "passwordResetUri": "",
            "develop": False,
            "experimental": False,
            "albumCategories": [],
            "albums": [],
            "cameras": [],
            "lenses": [],
            "countries": [],
            "people": [],
            "thumbs": [],
            "tier": 0,
            "membership": "ce",
            "customer": "",
            "mapKey": "",
            "downloadToken": "public",
            "previewToken": "public",
            "disable": {
                "backups": False,
                "webdav": False,
                "settings": False,
                "places": False,
                "exiftool": False,
                "ffmpeg": False,
                "raw": False,
                "tensorflow": False,
                "faces": False,
                "classification": False,
            },
            "count": dict.fromkeys(self.counts(), 0),
            "pos": {"uid": "", "cid": "", "utc": "0001-01-01T00:00:00Z", "lat": 0, "lng": 0},
            "years": [],
            "colors": [],
            "categories": [],
            "clip": 160,
            "server": {},
            "settings": self._settings_json(with_session),
            "acl": {},
            "ext": {},
        }
        if with_session:
            counts = self.counts()
            cfg["count"] = counts
            with self._lock:
                years = sorted(
                    {p.taken_at.year for p in self._photos.values() if not p.archived}, reverse=True
                )
            cfg["years"] = years
            cfg["downloadToken"] = self.download_token
            cfg["previewToken"] = self.preview_token
            if self.faults.drop_download_token_in_config:
                del cfg["downloadToken"]
        return cfg
