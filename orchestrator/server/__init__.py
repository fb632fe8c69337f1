"""`lmc serve`: Computers and conversations as a service over HTTP, SSE and WebSocket.

    lmc serve                       # 127.0.0.1:8765, token from <config dir>/lmc/serve-tokens
    lmc serve --ray --address HEAD  # sessions in Ray actors, shared by every replica (`cluster`)

The app (`app.create_app`) is Starlette on uvicorn (`run.serve`); every route needs a token
(`tokens`), each token sees only its own computers and conversations (`registry`). The
client side is `orchestrator.client`. Importing this package loads nothing heavy.
"""
