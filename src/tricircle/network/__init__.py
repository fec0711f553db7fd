"""Cross-pod networking: type drivers, bottom mirroring and cross-pod L3."""
