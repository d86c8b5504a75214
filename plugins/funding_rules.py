"""Built-in funding rules of the Pass numérique's calls for projects (filled in by the funding-rules work)."""
