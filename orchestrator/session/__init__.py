"""One conversation: the Interpreter, its reply loop, prompts, the conversation store, OS mode."""
