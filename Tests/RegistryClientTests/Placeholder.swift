// Replaced by the RegistryClient tests.
