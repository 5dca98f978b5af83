package notifyql

import (
	"encoding/base64"
	"strings"
)

// NodeType names a type of the GraphQL Node interface: the part of a node id that says
// which table its key is in.
type NodeType string

const (
	NodeService       NodeType = "Service"
	NodeNotification  NodeType = "Notification"
	NodeTemplate      NodeType = "Template"
	NodeJob           NodeType = "Job"
	NodeInboxMessage  NodeType = "InboxMessage"
	NodeReportRequest NodeType = "ReportRequest"
)

// NodeTypes lists every node type.
var NodeTypes = []NodeType{NodeService, NodeNotification, NodeTemplate, NodeJob, NodeInboxMessage, NodeReportRequest}

// Node is a row that a node id names.
type Node interface {
	NodeID() string
}

// MaxNodeIDs bounds the ids one nodes(ids) field may name: each is a row to load and check.
const MaxNodeIDs = 100

// nodeIDKinds are the kinds ValidateID is called with for each node type's key, so that an
// argument naming a row accepts that row's node id as well as its UUID.
var nodeIDKinds = map[string]NodeType{
	"service":        NodeService,
	"notification":   NodeNotification,
	"template":       NodeTemplate,
	"job":            NodeJob,
	"inbound text":   NodeInboxMessage,
	"report request": NodeReportRequest,
}

// NodeID returns the global id of the row of type t with key id: opaque base64url text of
// "<type>:<lower-case uuid>", unique across every type (a template and the version a
// notification was sent with share a UUID; their node ids differ) and decodable without
// a lookup. It holds no personal data.
func NodeID(t NodeType, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(string(t) + ":" + NormaliseID(id)))
}

// maxNodeIDLength bounds the input ParseNodeID decodes: the longest type name, a colon and
// a UUID, in base64.
const maxNodeIDLength = 72

// ParseNodeID reads a node id made by NodeID: its type and its key, a lower-case UUID.
// ok is false for anything else (bad base64, an unknown type, a key that is not a UUID,
// another spelling of the same id).
func ParseNodeID(s string) (t NodeType, id string, ok bool) {
	if len(s) > maxNodeIDLength {
		return "", "", false
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil {
		return "", "", false
	}
	name, key, found := strings.Cut(string(raw), ":")
	t = NodeType(name)
	if !found || !contains(NodeTypes, t) || !IsUUID(key) || key != strings.ToLower(key) {
		return "", "", false
	}
	return t, key, true
}

func (s *Service) NodeID() string       { return NodeID(NodeService, s.ID) }
func (n *Notification) NodeID() string  { return NodeID(NodeNotification, n.ID) }
func (t *Template) NodeID() string      { return NodeID(NodeTemplate, t.ID) }
func (j *Job) NodeID() string           { return NodeID(NodeJob, j.ID) }
func (m *InboxMessage) NodeID() string  { return NodeID(NodeInboxMessage, m.ID) }
func (r *ReportRequest) NodeID() string { return NodeID(NodeReportRequest, r.ID) }

var (
	_ Node = (*Service)(nil)
	_ Node = (*Notification)(nil)
	_ Node = (*Template)(nil)
	_ Node = (*Job)(nil)
	_ Node = (*InboxMessage)(nil)
	_ Node = (*ReportRequest)(nil)
)
