package bulk

// Kill stops m as a crash would: its context ends, and the batch it runs
// keeps its lease (neither released nor finished) until the lease ends.
// It does not wait (it may be called from m's own run); Close waits.
func Kill(m *Manager) {
	m.mu.Lock()
	m.killed = true
	m.mu.Unlock()
	m.cancel()
}

// SetFlush makes a Manager's runs record results every lines lines and
// call after with the count recorded by this attempt.
func SetFlush(c *ManagerConfig, lines int, after func(done int)) {
	c.flushLines, c.afterFlush = lines, after
}

// ClaimOnce makes m look for a batch to claim once, now, and run it;
// false when it claimed none.
func ClaimOnce(m *Manager) bool { return m.claimOne() }
