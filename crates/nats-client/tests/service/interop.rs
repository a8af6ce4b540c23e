//! Interop with nats.go's `micro` package (placeholder until the Go peer is written).
