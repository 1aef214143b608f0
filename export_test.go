package respool

// KeptPools is how many pools' states s keeps in memory (Config.PoolCache).
func KeptPools(s *Service) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.ring)
}
