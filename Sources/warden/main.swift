import WardenAppliance

await WardenCommand.runAsRoot()
