// The fleet simulator of bench/fleet.sh: many agents in one process against one daemon (written by the
// benchmark's change).
print("fleet simulator")
