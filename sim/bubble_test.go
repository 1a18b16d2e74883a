package sim

import (
	"net"
	"runtime"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// TestHangNamesTheGoroutine: when simulated time stops, the error must name
// the goroutine that stopped it. One waits on a real socket inside a
// bubble, which never counts as durably blocked; another sleeps, which
// does, and must not be named.
func TestHangNamesTheGoroutine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := socketPair(t)
		defer a.Close()
		defer b.Close()
		go waitOnRealSocket(a)
		go func() { time.Sleep(time.Hour) }()
		var report string
		for range 1000 { // until the goroutines are under way
			if report = notDurablyBlocked(); strings.Contains(report, "waitOnRealSocket") {
				break
			}
			runtime.Gosched()
		}
		if !strings.Contains(report, "sim.waitOnRealSocket") {
			t.Errorf("the report does not name the goroutine on the socket:\n%s", report)
		}
		if strings.Contains(report, "time.Sleep") {
			t.Errorf("the report names a durably blocked goroutine:\n%s", report)
		}
		b.Write([]byte("x")) // let the reader go, so the bubble can end
		time.Sleep(2 * time.Hour)
	})
}

func waitOnRealSocket(c net.Conn) { c.Read(make([]byte, 1)) }

// socketPair is a connected pair of real TCP sockets.
func socketPair(t *testing.T) (net.Conn, net.Conn) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := l.Accept()
		accepted <- c
	}()
	a, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	return a, <-accepted
}

// TestWallBound: the bound covers the scenario's whole length.
func TestWallBound(t *testing.T) {
	setup := Setup{Quiet: Duration(2 * time.Second)}
	steps := []Step{{At: Duration(30 * time.Second), For: Duration(10 * time.Second)}}
	if got := wallBound(setup, steps); got < 42*time.Second {
		t.Errorf("wallBound = %v, shorter than the scenario", got)
	}
}
