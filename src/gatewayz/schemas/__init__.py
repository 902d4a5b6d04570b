"""Wire schemas: request validation only, no logic and no heavy imports."""
