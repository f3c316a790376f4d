import { DeregisterImageCommand, DescribeLaunchTemplateVersionsCommand } from "@aws-sdk/client-ec2";
import { afterEach, describe, expect, it } from "vitest";
import { detachAll, launchGroup, simulatedWorld } from "../support/simulatedWorld.js";
import { deregisteredImagesInUse } from "../../simulator/region/index.js";

let world: ReturnType<typeof simulatedWorld> | undefined;
// Test files share worker threads (vitest.config.ts): leave no region attached for the next file.
afterEach(detachAll);

describe("deregisteredImagesInUse (the scenario invariant 'the live image is always kept')", () => {
  it("is empty while the live group's image exists, and names it once it is deregistered (the seeds' defect)", async () => {
    // Prepare
    world = simulatedWorld();
    await launchGroup(world, { release: "v1" });
    world.region.advance(120);
    const versions = await world.clients.ec2.send(
      new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: world.settings.launchTemplateId, Versions: ["$Latest"] }),
    );
    const liveImage = versions.LaunchTemplateVersions?.[0]?.LaunchTemplateData?.ImageId ?? "";
    const before = deregisteredImagesInUse(world.region);

    // Act
    await world.clients.ec2.send(new DeregisterImageCommand({ ImageId: liveImage }));

    // Assess
    expect(liveImage).toMatch(/^ami-/);
    expect(before).toEqual([]);
    expect(deregisteredImagesInUse(world.region)).toEqual([liveImage]);
  });
});
