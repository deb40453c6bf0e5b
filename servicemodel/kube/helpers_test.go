package kube

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/types"

	"github.com/proxykit/proxykit/servicemodel"
)

func ptr[T any](v T) *T { return &v }

// validationMessages checks that err is a *servicemodel.ValidationError for
// kind and name, and returns its field errors as text.
func validationMessages(t *testing.T, err error, kind string, name types.NamespacedName) []string {
	t.Helper()
	var ve *servicemodel.ValidationError
	require.True(t, errors.As(err, &ve), "error %v", err)
	assert.Equal(t, kind, ve.Kind)
	assert.Equal(t, name, ve.Name)
	var msgs []string
	for _, fe := range ve.Errs {
		msgs = append(msgs, fe.Error())
	}
	return msgs
}
