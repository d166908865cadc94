"""End-to-end tests of the editor clients in real editors."""
