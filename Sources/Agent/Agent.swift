// The deployment agent library (desired state, sync, install, health checks, reporting) is built by the
// deployments issue. The target exists so the package layout matches docs/architecture.md; it declares nothing yet.
