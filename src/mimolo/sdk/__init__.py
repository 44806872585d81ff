"""The Python agent SDK: BaseAgent, parameter declarations, the conformance checker."""
