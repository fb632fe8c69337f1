"""Models behind one protocol (base.Model): litellm (litellm_client), the embedded GGUF (local), in-process
test models (testing), the oracle/null pseudo-models (pseudo), the scripted HTTP server (scripted_server)
and the script format they share (script); guard keeps tests off paid APIs."""
