package sink

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestEnvRoundTrip(t *testing.T) {
	want := Env{Endpoints: []string{"unix:///tmp/a-m0.sock", "unix:///tmp/a-m1.sock"}, Prefix: "/syncagent/",
		Agent: "agent-1", Incarnation: 2, LeaseTTL: 3 * time.Second, Sink: "http://127.0.0.1:4000"}
	vars := map[string]string{}
	for _, kv := range want.Environ() {
		name, value, _ := strings.Cut(kv, "=")
		vars[name] = value
	}
	got, err := EnvFrom(func(name string) string { return vars[name] })
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("EnvFrom(Environ()) = %+v, %v; want %+v", got, err, want)
	}
}

func TestEnvNamesEveryProblem(t *testing.T) {
	vars := map[string]string{EnvIncarnation: "0", EnvLeaseTTL: "3s", EnvSink: "http://x"}
	_, err := EnvFrom(func(name string) string { return vars[name] })
	if err == nil {
		t.Fatal("an incomplete environment was accepted")
	}
	for _, want := range []string{EnvEndpoints + " is not set", EnvPrefix, EnvAgent, EnvIncarnation + `="0"`, EnvLeaseTTL + `="3s"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%v\ndoes not say %q", err, want)
		}
	}
	if strings.Contains(err.Error(), EnvSink) {
		t.Errorf("%v\nblames %s, which is set", err, EnvSink)
	}
}
