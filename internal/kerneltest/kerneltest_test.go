package kerneltest

import "testing"

func TestModeFromEnv(t *testing.T) {
	cases := map[string]Mode{"": Auto, "required": Required, "REQUIRED": Required, "1": Required, "off": Off, "0": Off, "maybe": Auto}
	for in, want := range cases {
		t.Setenv(EnvVar, in)
		if got := ModeFromEnv(); got != want {
			t.Errorf("%s=%q: got %v, want %v", EnvVar, in, got, want)
		}
	}
}

func TestMissingTool(t *testing.T) {
	if got := Missing("proxykit-no-such-tool"); got == "" {
		t.Fatal("a missing tool was reported present")
	}
}
