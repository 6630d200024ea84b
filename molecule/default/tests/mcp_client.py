"""A minimal MCP client for DBHub's streamable-HTTP endpoint (/mcp).

Enough JSON-RPC to prove what the scenario needs: `initialize`, then
`tools/call` of DBHub's per-source `execute_sql_<source id>` tool. DBHub
answers each POST with a one-event SSE stream (or plain JSON); both are read.
"""

import json

import requests

ACCEPT = "application/json, text/event-stream"


class McpError(RuntimeError):
    pass


class McpClient:
    def __init__(self, base_url, timeout=30):
        self.url = base_url.rstrip("/") + "/mcp"
        self.timeout = timeout
        self.session_id = None
        self._next_id = 0

    def _post(self, method, params):
        self._next_id += 1
        headers = {"Content-Type": "application/json", "Accept": ACCEPT}
        if self.session_id:
            headers["Mcp-Session-Id"] = self.session_id
        body = {"jsonrpc": "2.0", "id": self._next_id, "method": method, "params": params}
        resp = requests.post(self.url, json=body, headers=headers, timeout=self.timeout)
        resp.raise_for_status()
        self.session_id = resp.headers.get("Mcp-Session-Id", self.session_id)
        if resp.headers.get("Content-Type", "").startswith("text/event-stream"):
            data = [line[5:].strip() for line in resp.text.splitlines() if line.startswith("data:")]
            if not data:
                raise McpError("empty event stream from %s" % self.url)
            message = json.loads(data[-1])
        else:
            message = resp.json()
        if "error" in message:
            raise McpError(message["error"])
        return message["result"]

    def initialize(self):
        return self._post("initialize", {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "pgha-molecule-dbhub", "version": "1"},
        })

    def list_tools(self):
        return [t["name"] for t in self._post("tools/list", {})["tools"]]

    def execute_sql(self, source_id, sql):
        """Return DBHub's tool payload: {"success": bool, "data"|"error": ...}."""
        result = self._post("tools/call", {
            "name": "execute_sql_%s" % source_id,
            "arguments": {"sql": sql},
        })
        return json.loads(result["content"][0]["text"])


def first_row(payload):
    assert payload["success"], payload
    return payload["data"]["statements"][0]["rows"][0]
