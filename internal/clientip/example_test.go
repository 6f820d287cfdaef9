package clientip_test

import (
	"fmt"
	"net/http"

	"github.com/healthcards/healthcards/internal/clientip"
)

func ExampleProxies_ClientIP() {
	p, _ := clientip.Parse("10.0.0.10/32") // --trusted-proxy 10.0.0.10/32
	r, _ := http.NewRequest("GET", "http://issuer.test/account/signup", nil)
	r.RemoteAddr = "10.0.0.10:40312"
	r.Header.Set("X-Forwarded-For", "198.51.100.1, 203.0.113.7") // the client wrote the first hop
	fmt.Println(p.ClientIP(r))
	// Output: 203.0.113.7
}
