package notifyql

// NodeType names a type of the GraphQL Node interface.
type NodeType string

const (
	NodeService       NodeType = "Service"
	NodeNotification  NodeType = "Notification"
	NodeTemplate      NodeType = "Template"
	NodeJob           NodeType = "Job"
	NodeInboxMessage  NodeType = "InboxMessage"
	NodeReportRequest NodeType = "ReportRequest"
)

// NodeTypes lists every node type, in the order node(id) looks an id up in them: a node's
// id is its row's UUID, which does not say its type, so each id is looked for in every
// type and the first that has it answers. (The UUIDs are random v4 ones, unique across
// these tables in practice; the fixed order only makes the answer deterministic.)
var NodeTypes = []NodeType{NodeService, NodeNotification, NodeTemplate, NodeJob, NodeInboxMessage, NodeReportRequest}

// Node is a row that node(id) can answer with.
type Node interface {
	NodeType() NodeType
}

// MaxNodeIDs bounds the ids one nodes(ids) field may name: each is a row to load and check.
const MaxNodeIDs = 100

func (*Service) NodeType() NodeType       { return NodeService }
func (*Notification) NodeType() NodeType  { return NodeNotification }
func (*Template) NodeType() NodeType      { return NodeTemplate }
func (*Job) NodeType() NodeType           { return NodeJob }
func (*InboxMessage) NodeType() NodeType  { return NodeInboxMessage }
func (*ReportRequest) NodeType() NodeType { return NodeReportRequest }

var (
	_ Node = (*Service)(nil)
	_ Node = (*Notification)(nil)
	_ Node = (*Template)(nil)
	_ Node = (*Job)(nil)
	_ Node = (*InboxMessage)(nil)
	_ Node = (*ReportRequest)(nil)
)
