package graph

import (
	"runtime/debug"
	"strings"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	absser "github.com/microsoft/kiota-abstractions-go/serialization"
	"github.com/microsoft/kiota-abstractions-go/store"
	kform "github.com/microsoft/kiota-serialization-form-go"
	kjson "github.com/microsoft/kiota-serialization-json-go"
	kmultipart "github.com/microsoft/kiota-serialization-multipart-go"
	ktext "github.com/microsoft/kiota-serialization-text-go"
	msgraphcore "github.com/microsoftgraph/msgraph-sdk-go-core"
	"github.com/microsoftgraph/msgraph-sdk-go/domains"
	"github.com/microsoftgraph/msgraph-sdk-go/groups"
	"github.com/microsoftgraph/msgraph-sdk-go/rolemanagement"
	"github.com/microsoftgraph/msgraph-sdk-go/users"
)

// client is the part of the SDK's GraphServiceClient the directory uses, built the way the SDK
// builds it (the same adapter, serializers, backing store and request builders) but without
// the SDK's root package: that package imports every API area (drives, sites, teams, device
// management, education, …), about half of the SDK's code, which made every cold build and CI
// run compile it for nothing.
type client struct {
	adapter abstractions.RequestAdapter
	params  map[string]string
}

// newClient registers the default serializers the SDK's client registers (JSON, text, form,
// multipart; graph_base_service_client.go) and enables the backing store as it does.
func newClient(adapter abstractions.RequestAdapter) *client {
	abstractions.RegisterDefaultSerializer(func() absser.SerializationWriterFactory { return kjson.NewJsonSerializationWriterFactory() })
	abstractions.RegisterDefaultSerializer(func() absser.SerializationWriterFactory { return ktext.NewTextSerializationWriterFactory() })
	abstractions.RegisterDefaultSerializer(func() absser.SerializationWriterFactory { return kform.NewFormSerializationWriterFactory() })
	abstractions.RegisterDefaultSerializer(func() absser.SerializationWriterFactory {
		return kmultipart.NewMultipartSerializationWriterFactory()
	})
	abstractions.RegisterDefaultDeserializer(func() absser.ParseNodeFactory { return kjson.NewJsonParseNodeFactory() })
	abstractions.RegisterDefaultDeserializer(func() absser.ParseNodeFactory { return ktext.NewTextParseNodeFactory() })
	abstractions.RegisterDefaultDeserializer(func() absser.ParseNodeFactory { return kform.NewFormParseNodeFactory() })
	adapter.EnableBackingStore(store.BackingStoreFactoryInstance)
	return &client{adapter: adapter, params: map[string]string{"baseurl": adapter.GetBaseUrl()}}
}

func (c *client) GetAdapter() abstractions.RequestAdapter { return c.adapter }

func (c *client) Users() *users.UsersRequestBuilder {
	return users.NewUsersRequestBuilderInternal(c.params, c.adapter)
}

func (c *client) Groups() *groups.GroupsRequestBuilder {
	return groups.NewGroupsRequestBuilderInternal(c.params, c.adapter)
}

func (c *client) RoleManagement() *rolemanagement.RoleManagementRequestBuilder {
	return rolemanagement.NewRoleManagementRequestBuilderInternal(c.params, c.adapter)
}

func (c *client) Domains() *domains.DomainsRequestBuilder {
	return domains.NewDomainsRequestBuilderInternal(c.params, c.adapter)
}

// clientOptions are the SDK's telemetry options: the service library's version, read from the
// build (the SDK's root package keeps it as a constant).
func clientOptions() msgraphcore.GraphClientOptions {
	o := msgraphcore.GraphClientOptions{}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/microsoftgraph/msgraph-sdk-go" {
				o.GraphServiceLibraryVersion = strings.TrimPrefix(d.Version, "v")
			}
		}
	}
	return o
}
