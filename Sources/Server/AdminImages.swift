import Foundation
import Images
import Store
import WardenAPI

extension AdminService {
    /// Every image in the catalogue.
    public func images(by caller: AdminIdentity) throws(AdminError) -> [ImageRecord] {
        try stored { try store.images() }
    }

    /// One image.
    public func image(named name: String, by caller: AdminIdentity) throws(AdminError) -> ImageRecord {
        try stored { try store.image(named: name) }
    }

    /// Adds the Unified Kernel Image uploaded to `upload` as image `name`.
    public func addImage(named name: String, upload: String, by caller: AdminIdentity) throws(AdminError) -> ImageRecord
    {
        defer { try? FileManager.default.removeItem(atPath: upload) }
        try require(.operator, caller)
        try validateName(name, "image")
        do { return try images.add(name: name, upload: upload, actor: caller.actor) } catch {
            switch error {
            case .invalid(let why): throw .invalid(why)
            case .store(let error): throw AdminError(error)
            case .io(let why): throw .internalError(why)
            }
        }
    }

    /// Removes image `name`, unless a machine boots it.
    public func removeImage(named name: String, by caller: AdminIdentity) throws(AdminError) {
        try require(.operator, caller)
        do { try images.remove(name: name, actor: caller.actor) } catch {
            if case .store(let error) = error { throw AdminError(error) }
            throw .internalError(error.description)
        }
    }

    /// Points machine `name` at `image` (nil: none).
    public func setImage(machineNamed name: String, image: String?, by caller: AdminIdentity) throws(AdminError)
        -> MachineSummary
    {
        try require(.operator, caller)
        try stored { try store.setImage(machineNamed: name, image: image, actor: caller.actor) }
        return try stored { try store.machine(named: name) }
    }

    /// Where uploads wait while they arrive.
    public var uploadFolder: String { state.path + "/uploads" }
}
