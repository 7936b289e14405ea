"""SPEC §4.1, §4.2, §7: waybill tokens handed out before tokens named their binding keep working
after the upgrade — query, update, the landing page, and a repeated bind that answers the same
token — while new binds get tokens that name their binding.

The store is first made by the server, then turned back into the previous version's (schema 3:
every binding's token_hash the SHA-256 of its token, made from the nonce alone, under a UNIQUE
constraint), so that the next start runs the upgrade itself."""

import base64
import hashlib
import hmac
import os
import shutil
import sqlite3
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import (FOLLOW, PG, UPDATE_FOLLOW, Server, ServerTest, _psql, goods, pg_database,
                     pg_hash_key)

# the bindings table as schema 3 had it
BINDINGS_V3 = (
    "CREATE TABLE bindings("
    " id INTEGER PRIMARY KEY, appid TEXT NOT NULL, openid TEXT NOT NULL,"
    " waybill_id TEXT NOT NULL REFERENCES waybills(waybill_id), family INTEGER NOT NULL,"
    " token_hash TEXT NOT NULL UNIQUE, token_nonce TEXT NOT NULL,"
    " receiver_hash TEXT NOT NULL, receiver_tail TEXT NOT NULL,"
    " sender_hash TEXT NOT NULL, sender_tail TEXT NOT NULL, delivery_id TEXT NOT NULL,"
    " goods_json TEXT NOT NULL, trans_id TEXT NOT NULL, order_detail_path TEXT NOT NULL,"
    " updates INTEGER NOT NULL DEFAULT 0, mismatched INTEGER NOT NULL DEFAULT 0,"
    " created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,"
    " purged_at INTEGER NOT NULL DEFAULT 0, node_rank INTEGER NOT NULL DEFAULT 0,"
    " abnormal_told INTEGER NOT NULL DEFAULT 0, notified INTEGER NOT NULL DEFAULT 0)")


def legacy_token(hash_key, nonce):
    """The token schema 3 handed out: 48 bytes of HMAC-SHA512(hash key, "waybill-token:" nonce)."""
    raw = hmac.new(hash_key.encode(), ("waybill-token:" + nonce).encode(),
                   hashlib.sha512).digest()[:48]
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


class TokenUpgrade(ServerTest):
    fresh_server_per_test = True

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="waybilld-upgrade-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.srv = Server(data_dir=self.dir, admin_key="adm-upgrade").start()
        self.addCleanup(lambda: self.srv.stop())

    def hash_key(self):
        if PG:
            return pg_hash_key(self.dir)
        with open(os.path.join(self.dir, "hash.key")) as fh:
            return fh.read().strip()

    def downgrade(self):
        """Stops the server and makes the store schema 3's: returns {binding id: old token}."""
        self.assertEqual(self.srv.stop(), 0)
        key = self.hash_key()
        if PG:
            url = pg_database(self.dir)
            rows = [line.split("|") for line in
                    _psql("SELECT id, token_nonce FROM bindings", url).split()]
            tokens = {int(i): legacy_token(key, nonce) for i, nonce in rows}
            sql = ["DROP INDEX bindings_legacy_token"]
            sql += ["UPDATE bindings SET token_hash = '%s' WHERE id = %d"
                    % (hashlib.sha256(t.encode()).hexdigest(), i) for i, t in tokens.items()]
            sql += ["ALTER TABLE bindings ADD CONSTRAINT bindings_token_hash_key UNIQUE(token_hash)",
                    "DELETE FROM schema_version WHERE version >= 4"]
            _psql(";".join(sql), url)
            return tokens
        db = sqlite3.connect(os.path.join(self.dir, "waybilld.db"))
        rows = db.execute("SELECT id, token_nonce FROM bindings").fetchall()
        tokens = {i: legacy_token(key, nonce) for i, nonce in rows}
        db.execute("PRAGMA foreign_keys = ON")
        with db:
            for i, t in tokens.items():
                db.execute("UPDATE bindings SET token_hash = ? WHERE id = ?",
                           (hashlib.sha256(t.encode()).hexdigest(), i))
            db.execute("ALTER TABLE bindings RENAME TO bindings_v4")
            db.execute(BINDINGS_V3)
            db.execute("INSERT INTO bindings SELECT * FROM bindings_v4")
            db.execute("DROP TABLE bindings_v4")
            for name, cols in (("bindings_user", "appid, openid, family, waybill_id"),
                               ("bindings_waybill", "waybill_id"),
                               ("bindings_expiry", "purged_at, expires_at")):
                db.execute("CREATE INDEX %s ON bindings(%s)" % (name, cols))
            db.execute("DELETE FROM schema_version WHERE version >= 4")
        db.close()
        return tokens

    def test_tokens_from_before_keep_working(self):
        app = self.new_app(max_updates=5)
        made = [self.bind(app, goods_info=goods(1, name="旧%d" % i)) for i in range(3)]
        tokens = self.downgrade()
        self.assertEqual(len(tokens), 3)
        self.srv = Server(data_dir=self.dir, admin_key="adm-upgrade").start()
        app.server = self.srv
        old = [tokens[i] for i in sorted(tokens)]
        for i, (tok, openid, wb, body) in enumerate(made):
            self.assertNotEqual(old[i], tok)
            r = self.query(app, old[i])
            self.assert_ok(r)
            self.assertEqual(r["waybill_info"]["waybill_id"], wb)
            self.assertEqual(r["shop_info"]["goods_info"]["detail_list"][0]["goods_name"],
                             "旧%d" % i)
            # the same binding, followed again, still answers the token it was given
            r = self.call(FOLLOW, body, app.token)
            self.assertEqual(r.get("waybill_token"), old[i], r)
        self.assert_ok(self.call(UPDATE_FOLLOW, {"waybill_token": old[0],
                                                 "goods_info": goods(1, name="改")}, app.token))
        self.assertEqual(self.srv.request("GET", "/l/" + old[1] + "?format=json").status, 200)
        # a new bind gets a token that names its binding, and both kinds live side by side
        tok = self.bind(app)[0]
        self.assertNotIn(tok, old)
        self.assert_ok(self.query(app, tok))
        self.assert_ok(self.query(app, old[2]))
        # a token of neither kind is refused as before
        forged = old[2][:-1] + ("A" if old[2][-1] != "A" else "B")
        self.assert_err(self.query(app, forged), 9300507)


if __name__ == "__main__":
    unittest.main()
