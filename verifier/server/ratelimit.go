package server

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// maxLimiterClients bounds the per-client table; when it is full, idle
// entries are swept, and if none is idle the oldest is dropped.
const maxLimiterClients = 10000

// limiterIdle is how long an entry is kept after its client's last request.
const limiterIdle = 5 * time.Minute

// ipLimiter is a token bucket per client IP (golang.org/x/time/rate).
type ipLimiter struct {
	limit rate.Limit
	burst int
	now   func() time.Time

	mu      sync.Mutex
	clients map[string]*clientLimiter
}

type clientLimiter struct {
	lim  *rate.Limiter
	seen time.Time
}

func newIPLimiter(perSecond float64, burst int) *ipLimiter {
	return &ipLimiter{
		limit:   rate.Limit(perSecond),
		burst:   burst,
		now:     time.Now,
		clients: map[string]*clientLimiter{},
	}
}

// allow reports whether ip may make a request now and, if not, how long it
// should wait.
func (l *ipLimiter) allow(ip string) (bool, time.Duration) {
	now := l.now()
	l.mu.Lock()
	c, ok := l.clients[ip]
	if !ok {
		if len(l.clients) >= maxLimiterClients {
			l.sweepLocked(now)
		}
		c = &clientLimiter{lim: rate.NewLimiter(l.limit, l.burst)}
		l.clients[ip] = c
	}
	c.seen = now
	r := c.lim.ReserveN(now, 1)
	l.mu.Unlock()
	if !r.OK() {
		return false, time.Second
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

func (l *ipLimiter) sweepLocked(now time.Time) {
	var oldestIP string
	var oldest time.Time
	for ip, c := range l.clients {
		if now.Sub(c.seen) > limiterIdle {
			delete(l.clients, ip)
			continue
		}
		if oldestIP == "" || c.seen.Before(oldest) {
			oldestIP, oldest = ip, c.seen
		}
	}
	if len(l.clients) >= maxLimiterClients && oldestIP != "" {
		delete(l.clients, oldestIP)
	}
}

func (l *ipLimiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.clients)
}
