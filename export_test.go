package respool

// KeptPools is how many pools' states s keeps in memory (Config.PoolCache),
// or -1 if the ring of pools kept and the map of pools disagree.
func KeptPools(s *Service) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.ring {
		if e.gone || s.pools[e.id] != e {
			return -1
		}
	}
	return len(s.ring)
}
