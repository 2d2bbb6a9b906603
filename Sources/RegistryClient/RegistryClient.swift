// The typed HTTP client of the registry API is built by the CLI issue. The target exists so the package layout
// matches docs/architecture.md; it declares nothing yet.
