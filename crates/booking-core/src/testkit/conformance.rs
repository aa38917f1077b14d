//! Placeholder: the shared store conformance suite is being written.
