"""Trading Coach Workstation kernel: market data, feeds, indicators, storage. No Qt here."""
