"""Qt widgets: they render state and emit user intent; all business logic lives in `core`."""
