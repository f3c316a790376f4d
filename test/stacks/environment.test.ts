import { Match, Template } from "aws-cdk-lib/assertions";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { STAGES } from "../../stacks/config.js";
import { synthesizeApp } from "../../stacks/synthesize.js";

const CERT = "arn:aws:acm:us-east-1:123456789012:certificate/0b1c2d3e-1111-2222-3333-444455556666";
Object.assign(STAGES, {
  tls01: { domain: "example.com", hostedZoneId: "Z0123456789EXAMPLE01", certificateArn: CERT, ipv6: true },
  ssh01: {
    domain: "example.com",
    hostedZoneId: "Z0123456789EXAMPLE01",
    sshPublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB7 someone@example",
    vpc: {
      vpcId: "vpc-0abc12345def67890",
      publicSubnetIds: ["subnet-0aaa1111", "subnet-0bbb2222"],
      availabilityZones: ["us-east-1a", "us-east-1b"],
    },
  },
});

Object.assign(STAGES, {
  zones01: { domain: "example.org", hostedZoneId: "Z0987654321ZONES0001", region: "us-west-1", availabilityZones: ["us-west-1b", "us-west-1c"] },
});
// Test files share worker threads (vitest.config.ts): the next file sees only the configured stages.
afterAll(() => {
  for (const stage of ["tls01", "ssh01", "zones01"]) delete STAGES[stage];
});

async function environmentOf(stage: string) {
  const app = await synthesizeApp(stage);
  return Template.fromJSON(app.template("Environment"));
}

describe("Environment stack, application load balancer (dev01)", () => {
  let t: Template;
  beforeAll(async () => {
    t = await environmentOf("dev01");
  });

  it("health-checks GET /api/status/health every 30 s (timeout 4 s, 2 healthy, 2 unhealthy) and drains 300 s", () => {
    t.hasResourceProperties("AWS::ElasticLoadBalancingV2::TargetGroup", {
      Port: 80,
      Protocol: "HTTP",
      TargetType: "instance",
      HealthCheckPath: "/api/status/health",
      HealthCheckIntervalSeconds: 30,
      HealthCheckTimeoutSeconds: 4,
      HealthyThresholdCount: 2,
      UnhealthyThresholdCount: 2,
      Matcher: { HttpCode: "200" },
      TargetGroupAttributes: Match.arrayWith([{ Key: "deregistration_delay.timeout_seconds", Value: "300" }]),
    });
  });

  it("listens on 80 and forwards to the target group, with access logs and invalid headers dropped", () => {
    t.hasResourceProperties("AWS::ElasticLoadBalancingV2::Listener", {
      Port: 80,
      Protocol: "HTTP",
      DefaultActions: [Match.objectLike({ Type: "forward" })],
    });
    t.hasResourceProperties("AWS::ElasticLoadBalancingV2::LoadBalancer", {
      Scheme: "internet-facing",
      LoadBalancerAttributes: Match.arrayWith([
        { Key: "routing.http.drop_invalid_header_fields.enabled", Value: "true" },
        { Key: "access_logs.s3.enabled", Value: "true" },
      ]),
    });
  });

  it("points dev01.example.com at the load balancer with an ALIAS that evaluates target health", () => {
    t.hasResourceProperties("AWS::Route53::RecordSet", {
      Name: "dev01.example.com.",
      Type: "A",
      HostedZoneId: "Z0123456789EXAMPLE01",
      AliasTarget: Match.objectLike({ EvaluateTargetHealth: true }),
    });
    t.resourceCountIs("AWS::Route53::RecordSet", 1);
  });

  it("launch template: IMDSv2 required, encrypted gp3 root volume, no key pair, the instance profile", () => {
    t.hasResourceProperties("AWS::EC2::LaunchTemplate", {
      LaunchTemplateName: "webapp-dev01",
      LaunchTemplateData: Match.objectLike({
        InstanceType: "t3.micro",
        MetadataOptions: Match.objectLike({ HttpTokens: "required", HttpPutResponseHopLimit: 1 }),
        BlockDeviceMappings: [
          { DeviceName: "/dev/xvda", Ebs: Match.objectLike({ Encrypted: true, VolumeType: "gp3" }) },
        ],
        IamInstanceProfile: Match.anyValue(),
        KeyName: Match.absent(),
      }),
    });
    t.resourceCountIs("AWS::EC2::KeyPair", 0);
  });

  it("instances accept traffic only from the load balancer's security group; the load balancer is open on 80", () => {
    const groups = t.findResources("AWS::EC2::SecurityGroup");
    const instanceGroupId = Object.keys(groups).find((id) => id.startsWith("InstanceSecurityGroup"))!;
    const lbGroupId = Object.keys(groups).find((id) => id.startsWith("LoadBalancerSecurityGroup"))!;
    expect(groups[instanceGroupId].Properties.SecurityGroupIngress).toBeUndefined();
    const ingress = t.findResources("AWS::EC2::SecurityGroupIngress");
    const intoInstances = Object.values(ingress).filter((r) => r.Properties.GroupId["Fn::GetAtt"][0] === instanceGroupId);
    expect(intoInstances).toHaveLength(1);
    expect(intoInstances[0].Properties).toMatchObject({
      IpProtocol: "tcp",
      FromPort: 80,
      ToPort: 80,
      SourceSecurityGroupId: { "Fn::GetAtt": [lbGroupId, "GroupId"] },
    });
    expect(groups[lbGroupId].Properties.SecurityGroupIngress).toEqual([
      expect.objectContaining({ CidrIp: "0.0.0.0/0", FromPort: 80, ToPort: 80 }),
    ]);
  });

  it("creates a VPC with two public subnets and flow logs, and the outputs the pipeline needs", () => {
    t.resourceCountIs("AWS::EC2::VPC", 1);
    t.resourceCountIs("AWS::EC2::Subnet", 2);
    t.resourceCountIs("AWS::EC2::FlowLog", 1);
    t.resourceCountIs("AWS::EC2::NatGateway", 0);
    const outputs = t.toJSON().Outputs;
    expect(Object.keys(outputs)).toEqual(
      expect.arrayContaining(["SiteUrl", "LoadBalancerDnsName", "LaunchTemplateId", "TargetGroupArn"]),
    );
    expect(outputs.SiteUrl.Value).toBe("http://dev01.example.com");
  });

  it("grants the instance role Session Manager and nothing else", () => {
    t.hasResourceProperties("AWS::IAM::Role", {
      AssumeRolePolicyDocument: Match.objectLike({
        Statement: [Match.objectLike({ Principal: { Service: "ec2.amazonaws.com" } })],
      }),
      ManagedPolicyArns: [{ "Fn::Join": ["", ["arn:", { Ref: "AWS::Partition" }, ":iam::aws:policy/AmazonSSMManagedInstanceCore"]] }],
    });
  });
});

describe("Environment stack, classic load balancer (classic01)", () => {
  let t: Template;
  beforeAll(async () => {
    t = await environmentOf("classic01");
  });

  it("listens 80 -> 80, health-checks HTTP:80/api/status/health and drains connections for 300 s", () => {
    t.hasResourceProperties("AWS::ElasticLoadBalancing::LoadBalancer", {
      Scheme: "internet-facing",
      CrossZone: true,
      Listeners: [Match.objectLike({ LoadBalancerPort: "80", InstancePort: "80", Protocol: "http" })],
      HealthCheck: { Target: "HTTP:80/api/status/health", Interval: "30", Timeout: "4", HealthyThreshold: "2", UnhealthyThreshold: "2" },
      ConnectionDrainingPolicy: { Enabled: true, Timeout: 300 },
      AccessLoggingPolicy: Match.objectLike({ Enabled: true }),
    });
    t.resourceCountIs("AWS::ElasticLoadBalancingV2::TargetGroup", 0);
  });

  it("uses the load balancer security group that instances trust, and outputs the load balancer name", () => {
    const groups = t.findResources("AWS::EC2::SecurityGroup");
    const lbGroupId = Object.keys(groups).find((id) => id.startsWith("LoadBalancerSecurityGroup"))!;
    t.hasResourceProperties("AWS::ElasticLoadBalancing::LoadBalancer", {
      SecurityGroups: [{ "Fn::GetAtt": [lbGroupId, "GroupId"] }],
    });
    expect(Object.keys(t.toJSON().Outputs)).toEqual(expect.arrayContaining(["LoadBalancerName"]));
  });

  it("aliases classic01.example.com with EvaluateTargetHealth", () => {
    t.hasResourceProperties("AWS::Route53::RecordSet", {
      Name: "classic01.example.com.",
      AliasTarget: Match.objectLike({ EvaluateTargetHealth: true }),
    });
  });
});

describe("Environment stack, other stage shapes", () => {
  it("production serves the apex domain", async () => {
    const t = await environmentOf("production");
    t.hasResourceProperties("AWS::Route53::RecordSet", { Name: "example.com.", Type: "A" });
  });

  it("with a certificate: HTTPS on 443, HTTP redirects to it, and A + AAAA on a dualstack ALB", async () => {
    const t = await environmentOf("tls01");
    t.hasResourceProperties("AWS::ElasticLoadBalancingV2::Listener", {
      Port: 443,
      Protocol: "HTTPS",
      Certificates: [{ CertificateArn: CERT }],
    });
    t.hasResourceProperties("AWS::ElasticLoadBalancingV2::Listener", {
      Port: 80,
      DefaultActions: [Match.objectLike({ Type: "redirect", RedirectConfig: Match.objectLike({ Protocol: "HTTPS", Port: "443" }) })],
    });
    t.hasResourceProperties("AWS::ElasticLoadBalancingV2::LoadBalancer", { IpAddressType: "dualstack" });
    t.hasResourceProperties("AWS::Route53::RecordSet", { Name: "tls01.example.com.", Type: "AAAA" });
  });

  it("with an SSH key: imports a key pair (still no port 22 ingress) and uses the existing VPC", async () => {
    const t = await environmentOf("ssh01");
    t.resourceCountIs("AWS::EC2::KeyPair", 1);
    t.hasResourceProperties("AWS::EC2::LaunchTemplate", {
      LaunchTemplateData: Match.objectLike({ KeyName: Match.anyValue() }),
    });
    t.resourceCountIs("AWS::EC2::VPC", 0);
    const ingress = Object.values(t.findResources("AWS::EC2::SecurityGroupIngress"));
    expect(ingress.every((r) => r.Properties.FromPort !== 22)).toBe(true);
    t.hasResourceProperties("AWS::ElasticLoadBalancingV2::LoadBalancer", {
      Subnets: ["subnet-0aaa1111", "subnet-0bbb2222"],
    });
  });
});

describe("Environment stack: the subnets' availability zones", () => {
  const subnetZones = (t: Template) => Object.values(t.findResources("AWS::EC2::Subnet")).map((subnet) => subnet.Properties.AvailabilityZone);

  it("come from the stage's availabilityZones when it sets them, in the stage's own region", async () => {
    const t = await environmentOf("zones01");
    expect(subnetZones(t)).toEqual(["us-west-1b", "us-west-1c"]);
  });

  it("otherwise from CDK's availability-zone lookup (made by sst deploy), never a guessed letter", async () => {
    // Prepare: no cdk.context.json in the repository, so the lookup is not cached here.
    const app = await synthesizeApp("dev01");
    // Assess: CDK's placeholders, and a note that the deploy looks the zones up.
    expect(subnetZones(Template.fromJSON(app.template("Environment")))).toEqual(["dummy1a", "dummy1b"]);
    expect(app.notes).toEqual(expect.arrayContaining([expect.stringMatching(/^availability-zones lookup \(availability-zones:account=123456789012:region=us-east-1\)/)]));
  });
});
