package sim

import "testing"

// linkedCluster starts a one-member cluster and an agent's link to it, both
// closed when the test ends.
func linkedCluster(t *testing.T) (*Cluster, *link) {
	t.Helper()
	c, err := StartCluster(1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	l, err := newLink(c.Dir, "agent", c.Endpoints())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.close)
	return c, l
}
