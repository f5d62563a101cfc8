import Attestation
import WardenAPI

extension MachineState: SQLColumnValue {}

extension SQLTransaction {
    /// Moves machine `id` by `event` in the caller's transaction, as ``MachineLifecycle``
    /// allows, and returns the state it reached. A state that is not stored (forgotten,
    /// expired) is the caller's to carry out by deleting the row.
    @discardableResult
    func move(machine id: Int64, named name: String, by event: MachineEvent) throws -> MachineState {
        guard
            let current = try MachineState.fetchOne(
                self, sql: "SELECT state FROM machine WHERE id = ?", arguments: [id])
        else {
            throw StoreError.notFound("machine \(name)")
        }
        return try move(machine: id, named: name, from: current, by: event)
    }

    /// Moves machine `id`, whose state this transaction read as `current`, by `event`, as
    /// ``move(machine:named:by:)`` does.
    @discardableResult
    func move(machine id: Int64, named name: String, from current: MachineState, by event: MachineEvent) throws
        -> MachineState
    {
        guard let next = MachineLifecycle.state(after: event, from: current) else {
            throw StoreError.lifecycle(machine: name, state: current, event: event)
        }
        if next.isStored, next != current {
            try execute(sql: "UPDATE machine SET state = ? WHERE id = ?", arguments: [next, id])
        }
        return next
    }

    /// Moves the machine named `name` by `event`, as ``move(machine:named:by:)`` does; its id.
    func move(machineNamed name: String, by event: MachineEvent) throws -> Int64 {
        guard let id = try Int64.fetchOne(self, sql: "SELECT id FROM machine WHERE name = ?", arguments: [name]) else {
            throw StoreError.notFound("machine \(name)")
        }
        try move(machine: id, named: name, by: event)
        return id
    }

    /// The state a new machine row starts in when `event` creates it.
    static func newMachineState(by event: MachineEvent) -> MachineState {
        guard let state = MachineLifecycle.state(after: event, from: nil) else {
            preconditionFailure("the lifecycle creates no machine by \(event)")
        }
        return state
    }
}
