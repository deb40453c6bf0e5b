//go:build tools

// Package deps pins the module's chosen dependencies before every package
// that uses them exists. It is never built.
package deps

import (
	_ "github.com/google/nftables"
	_ "github.com/moby/ipvs"
	_ "github.com/stretchr/testify/require"
	_ "github.com/vishvananda/netlink"
	_ "github.com/vishvananda/netns"
	_ "golang.org/x/sys/unix"
	_ "k8s.io/api/core/v1"
	_ "k8s.io/api/discovery/v1"
	_ "k8s.io/apimachinery/pkg/util/validation"
	_ "k8s.io/client-go/tools/cache"
	_ "sigs.k8s.io/yaml"
)
