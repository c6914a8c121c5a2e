//go:build tools

// The command make k8s-bins builds; importing it here keeps go.mod and go.sum complete.
package corednsbuild

import _ "github.com/coredns/coredns"
