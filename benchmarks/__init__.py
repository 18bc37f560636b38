"""Side-by-side measurements of the client and the mock server."""
