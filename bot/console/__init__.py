"""Staff console."""
