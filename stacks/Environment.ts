import { Duration, RemovalPolicy, Tags } from "aws-cdk-lib";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as elb from "aws-cdk-lib/aws-elasticloadbalancing";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as elbv2 from "aws-cdk-lib/aws-elasticloadbalancingv2";
import * as iam from "aws-cdk-lib/aws-iam";
import * as logs from "aws-cdk-lib/aws-logs";
import * as route53 from "aws-cdk-lib/aws-route53";
import * as targets from "aws-cdk-lib/aws-route53-targets";
import * as s3 from "aws-cdk-lib/aws-s3";
import { RegionInfo } from "aws-cdk-lib/region-info";
import { NagSuppressions } from "cdk-nag";
import type { StackContext } from "sst/constructs";
import type { CutoverSettings } from "../functions/lib/contract.js";
import { DEFAULTS, TAG } from "../functions/lib/names.js";
import { loadStageConfig, siteDomain, type StageConfig } from "./config.js";
import { sessionManagerRole, suppressSstInternals } from "./nag.js";

/** What the Pipeline stack needs from the environment (via `use(Environment)`). */
export interface EnvironmentResources {
  config: StageConfig;
  vpc: ec2.IVpc;
  publicSubnets: ec2.ISubnet[];
  /** The zones of the public subnets, in subnet order (the bake runs in the first). */
  availabilityZones: string[];
  instanceSecurityGroup: ec2.ISecurityGroup;
  launchTemplate: ec2.LaunchTemplate;
  instanceRole: iam.Role;
  targetGroup?: elbv2.ApplicationTargetGroup;
  /** ALB: the second target group; the new group of a deploy waits on whichever of the two gets no traffic. */
  alternateTargetGroup?: elbv2.ApplicationTargetGroup;
  /** ALB: the listener that serves the site; the pipeline owns one rule on it (the weights). */
  listener?: elbv2.ApplicationListener;
  classicLoadBalancer?: elb.LoadBalancer;
  /** The cutover watch's alarms per target group or classic load balancer. */
  builtInAlarms: CutoverSettings["builtInAlarms"];
  siteUrl: string;
}

/**
 * The two alarms the cutover watches on each place a group takes traffic (functions/shiftTraffic.ts): target 5XX
 * answers (nginx on the instance answers 502 when the app behind it is down, which ALB counts as
 * HTTPCode_Target_5XX_Count and a classic ELB as HTTPCode_Backend_5XX) and unhealthy hosts, per minute, one
 * datapoint: the watch switches back at the first bad minute. Missing data is not breaching: ELB publishes these
 * metrics only while requests flow (ALB User Guide, "CloudWatch metrics for your Application Load Balancer").
 */
function cutoverAlarms(stack: StackContext["stack"], config: StageConfig, id: string, metrics: { errors: cloudwatch.IMetric; unhealthy: cloudwatch.IMetric }): string[] {
  const alarm = (suffix: string, metric: cloudwatch.IMetric, threshold: number, description: string) =>
    new cloudwatch.Alarm(stack, `${id}${suffix}`, {
      alarmName: `${config.app}-${config.stage}-${id.toLowerCase()}-${suffix.toLowerCase()}`,
      alarmDescription: description,
      metric,
      threshold,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    }).alarmName;
  return [
    alarm("Target5xx", metrics.errors, DEFAULTS.target5xxPerMinute, `More than ${DEFAULTS.target5xxPerMinute} 5XX answers from ${id} targets in a minute: a deploy's cutover switches back`),
    alarm("UnhealthyHosts", metrics.unhealthy, 0, `An unhealthy host in ${id}: a deploy's cutover switches back`),
  ];
}

/**
 * The seeds' `setup`, once per stage: network, load balancer with draining and health check, DNS alias,
 * security groups, instance role and the launch template every release version derives from.
 */
export function Environment({ stack, app }: StackContext): EnvironmentResources {
  const config = loadStageConfig(app.stage);
  suppressSstInternals(stack);
  Tags.of(stack).add(TAG.app, config.app);
  Tags.of(stack).add(TAG.environment, config.stage);

  const { vpc, publicSubnets, availabilityZones } = environmentNetwork(stack, config);

  // Access logs of the load balancer (ELB writes with SSE-S3 only).
  const logBucket = new s3.Bucket(stack, "LoadBalancerLogs", {
    encryption: s3.BucketEncryption.S3_MANAGED,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    enforceSSL: true,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    lifecycleRules: [{ expiration: Duration.days(90) }],
    removalPolicy: RemovalPolicy.RETAIN,
  });
  NagSuppressions.addResourceSuppressions(logBucket, [
    { id: "AwsSolutions-S1", reason: "This bucket is itself the access-log destination of the load balancer." },
  ]);

  const loadBalancerSecurityGroup = new ec2.SecurityGroup(stack, "LoadBalancerSecurityGroup", {
    vpc,
    description: `${config.app} ${config.stage}: public HTTP/HTTPS to the load balancer`,
    allowAllOutbound: false,
  });
  loadBalancerSecurityGroup.addIngressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(80), "HTTP from anywhere");
  if (config.certificateArn)
    loadBalancerSecurityGroup.addIngressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), "HTTPS from anywhere");
  if (config.ipv6) {
    loadBalancerSecurityGroup.addIngressRule(ec2.Peer.anyIpv6(), ec2.Port.tcp(80), "HTTP from anywhere (IPv6)");
    if (config.certificateArn)
      loadBalancerSecurityGroup.addIngressRule(ec2.Peer.anyIpv6(), ec2.Port.tcp(443), "HTTPS from anywhere (IPv6)");
  }
  NagSuppressions.addResourceSuppressions(loadBalancerSecurityGroup, [
    { id: "AwsSolutions-EC23", reason: "A public website: the load balancer must accept HTTP/HTTPS from anywhere." },
  ]);

  const instanceSecurityGroup = new ec2.SecurityGroup(stack, "InstanceSecurityGroup", {
    vpc,
    description: `${config.app} ${config.stage}: app instances, reachable only from the load balancer`,
    allowAllOutbound: true, // OS packages are baked in; outbound stays open for SSM and the app's own calls.
  });
  instanceSecurityGroup.addIngressRule(loadBalancerSecurityGroup, ec2.Port.tcp(80), "HTTP from the load balancer");
  loadBalancerSecurityGroup.addEgressRule(instanceSecurityGroup, ec2.Port.tcp(80), "HTTP to the instances");

  const instanceRole = sessionManagerRole(stack, "InstanceRole", "App instances: Session Manager access only");

  const keyPair = config.sshPublicKey
    ? new ec2.KeyPair(stack, "SshKeyPair", {
        keyPairName: `${config.app}-${config.stage}`,
        publicKeyMaterial: config.sshPublicKey,
      })
    : undefined;
  // No port 22 ingress even with a key: SSH goes through Session Manager (AWS-StartSSHSession).

  const launchTemplate = new ec2.LaunchTemplate(stack, "LaunchTemplate", {
    launchTemplateName: `${config.app}-${config.stage}`,
    instanceType: new ec2.InstanceType(config.instanceType),
    securityGroup: instanceSecurityGroup,
    role: instanceRole,
    requireImdsv2: true,
    httpPutResponseHopLimit: 1,
    httpTokens: ec2.LaunchTemplateHttpTokens.REQUIRED,
    associatePublicIpAddress: true,
    detailedMonitoring: true,
    keyPair,
    blockDevices: [
      {
        deviceName: "/dev/xvda",
        volume: ec2.BlockDeviceVolume.ebs(16, { encrypted: true, volumeType: ec2.EbsDeviceVolumeType.GP3 }),
      },
    ],
  });

  const healthCheck = config.healthCheck;
  const builtInAlarms: CutoverSettings["builtInAlarms"] = [];
  let targetGroup: elbv2.ApplicationTargetGroup | undefined;
  let alternateTargetGroup: elbv2.ApplicationTargetGroup | undefined;
  let listener: elbv2.ApplicationListener | undefined;
  let classicLoadBalancer: elb.LoadBalancer | undefined;
  let aliasTarget: route53.IAliasRecordTarget;
  let loadBalancerDnsName: string;

  if (config.loadBalancer === "application") {
    const alb = new elbv2.ApplicationLoadBalancer(stack, "LoadBalancer", {
      vpc,
      vpcSubnets: { subnets: publicSubnets },
      internetFacing: true,
      securityGroup: loadBalancerSecurityGroup,
      dropInvalidHeaderFields: true,
      ipAddressType: config.ipv6 ? elbv2.IpAddressType.DUAL_STACK : elbv2.IpAddressType.IPV4,
    });
    alb.logAccessLogs(logBucket, "alb");
    const newTargetGroup = (id: string) => new elbv2.ApplicationTargetGroup(stack, id, {
      vpc,
      port: 80,
      protocol: elbv2.ApplicationProtocol.HTTP,
      targetType: elbv2.TargetType.INSTANCE,
      deregistrationDelay: Duration.seconds(config.drainingSeconds),
      healthCheck: {
        path: healthCheck.path,
        protocol: elbv2.Protocol.HTTP,
        interval: Duration.seconds(healthCheck.intervalSeconds),
        timeout: Duration.seconds(healthCheck.timeoutSeconds),
        healthyThresholdCount: healthCheck.healthyThreshold,
        unhealthyThresholdCount: healthCheck.unhealthyThreshold,
        healthyHttpCodes: "200",
      },
    });
    // Two target groups: the live group serves from one while the new group is proven healthy on the other. The
    // first keeps its construct id, so an environment made before the second existed keeps its target group.
    targetGroup = newTargetGroup("TargetGroup");
    alternateTargetGroup = newTargetGroup("AlternateTargetGroup");
    // The stack owns the listener and this default action only: all traffic to the first target group, the second
    // associated with weight 0 (ELB registers targets only in a target group a load balancer uses; weights are
    // 0-999, "What's new", 2019-11-19). The weights of a deploy live in the pipeline's own listener rule
    // (CUTOVER_RULE), which no template declares: `sst deploy` cannot reset them (README "The listener").
    const defaultAction = elbv2.ListenerAction.weightedForward([
      { targetGroup, weight: 1 },
      { targetGroup: alternateTargetGroup, weight: 0 },
    ]);
    if (config.certificateArn) {
      listener = alb.addListener("Https", {
        port: 443,
        protocol: elbv2.ApplicationProtocol.HTTPS,
        certificates: [elbv2.ListenerCertificate.fromArn(config.certificateArn)],
        sslPolicy: elbv2.SslPolicy.RECOMMENDED_TLS,
        defaultAction,
        open: false,
      });
      alb.addListener("Http", {
        port: 80,
        open: false,
        defaultAction: elbv2.ListenerAction.redirect({ protocol: "HTTPS", port: "443", permanent: true }),
      });
    } else {
      listener = alb.addListener("Http", { port: 80, open: false, defaultAction });
    }
    for (const [id, group] of [["Blue", targetGroup], ["Green", alternateTargetGroup]] as const) {
      const period = Duration.minutes(1);
      builtInAlarms.push({
        target: group.targetGroupArn,
        alarms: cutoverAlarms(stack, config, id, {
          errors: group.metrics.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, { period, statistic: "Sum" }),
          unhealthy: group.metrics.unhealthyHostCount({ period, statistic: "Maximum" }),
        }),
      });
    }
    aliasTarget = new targets.LoadBalancerTarget(alb, { evaluateTargetHealth: true });
    loadBalancerDnsName = alb.loadBalancerDnsName;
  } else {
    classicLoadBalancer = new elb.LoadBalancer(stack, "LoadBalancer", {
      vpc,
      subnetSelection: { subnets: publicSubnets },
      internetFacing: true,
      crossZone: true,
      listeners: [
        { externalPort: 80, internalPort: 80, allowConnectionsFrom: [] },
        ...(config.certificateArn
          ? [
              {
                externalPort: 443,
                externalProtocol: elb.LoadBalancingProtocol.HTTPS,
                internalPort: 80,
                internalProtocol: elb.LoadBalancingProtocol.HTTP,
                sslCertificateArn: config.certificateArn,
                allowConnectionsFrom: [],
              },
            ]
          : []),
      ],
      healthCheck: {
        port: 80,
        protocol: elb.LoadBalancingProtocol.HTTP,
        path: healthCheck.path,
        interval: Duration.seconds(healthCheck.intervalSeconds),
        timeout: Duration.seconds(healthCheck.timeoutSeconds),
        healthyThreshold: healthCheck.healthyThreshold,
        unhealthyThreshold: healthCheck.unhealthyThreshold,
      },
      accessLoggingPolicy: {
        enabled: true,
        s3BucketName: logBucket.bucketName,
        s3BucketPrefix: "elb",
        emitInterval: 5,
      },
    });
    const cfnElb = classicLoadBalancer.node.defaultChild as elb.CfnLoadBalancer;
    cfnElb.connectionDrainingPolicy = { enabled: true, timeout: config.drainingSeconds };
    // The L2 construct creates its own group; use ours so the instance rule above applies.
    cfnElb.securityGroups = [loadBalancerSecurityGroup.securityGroupId];
    const elbAccount = RegionInfo.get(config.region).elbv2Account;
    logBucket.addToResourcePolicy(
      new iam.PolicyStatement({
        actions: ["s3:PutObject"],
        principals: [
          elbAccount ? new iam.AccountPrincipal(elbAccount) : new iam.ServicePrincipal("logdelivery.elasticloadbalancing.amazonaws.com"),
        ],
        resources: [logBucket.arnForObjects(`elb/AWSLogs/${stack.account}/*`)],
      }),
    );
    classicLoadBalancer.node.addDependency(logBucket);
    NagSuppressions.addResourceSuppressions(classicLoadBalancer, [
      { id: "AwsSolutions-ELB1", reason: 'This stage chose `loadBalancer: "classic"`; "application" (the default) uses an ALB.' },
      ...(config.certificateArn
        ? []
        : [{ id: "AwsSolutions-ELB5", reason: "No certificateArn configured for this stage: HTTP only until one is set." }]),
    ], true);
    const dimensionsMap = { LoadBalancerName: classicLoadBalancer.loadBalancerName };
    const period = Duration.minutes(1);
    builtInAlarms.push({
      target: classicLoadBalancer.loadBalancerName,
      alarms: cutoverAlarms(stack, config, "Elb", {
        errors: new cloudwatch.Metric({ namespace: "AWS/ELB", metricName: "HTTPCode_Backend_5XX", dimensionsMap, period, statistic: "Sum" }),
        unhealthy: new cloudwatch.Metric({ namespace: "AWS/ELB", metricName: "UnHealthyHostCount", dimensionsMap, period, statistic: "Maximum" }),
      }),
    });
    aliasTarget = new targets.ClassicLoadBalancerTarget(classicLoadBalancer, { evaluateTargetHealth: true });
    loadBalancerDnsName = classicLoadBalancer.loadBalancerDnsName;
  }

  const zone = route53.HostedZone.fromHostedZoneAttributes(stack, "Zone", {
    hostedZoneId: config.hostedZoneId,
    zoneName: config.domain,
  });
  const recordName = siteDomain(config);
  new route53.ARecord(stack, "AliasA", { zone, recordName, target: route53.RecordTarget.fromAlias(aliasTarget) });
  if (config.ipv6) {
    new route53.AaaaRecord(stack, "AliasAAAA", { zone, recordName, target: route53.RecordTarget.fromAlias(aliasTarget) });
  }

  const siteUrl = `${config.certificateArn ? "https" : "http"}://${recordName}`;
  stack.addOutputs({
    SiteUrl: siteUrl,
    LoadBalancerDnsName: loadBalancerDnsName,
    LaunchTemplateId: launchTemplate.launchTemplateId ?? "",
    ...(targetGroup ? { TargetGroupArn: targetGroup.targetGroupArn } : {}),
    ...(alternateTargetGroup ? { AlternateTargetGroupArn: alternateTargetGroup.targetGroupArn } : {}),
    ...(listener ? { ListenerArn: listener.listenerArn } : {}),
    ...(classicLoadBalancer ? { LoadBalancerName: classicLoadBalancer.loadBalancerName } : {}),
  });

  return {
    config,
    vpc,
    publicSubnets,
    availabilityZones,
    instanceSecurityGroup,
    launchTemplate,
    instanceRole,
    targetGroup,
    alternateTargetGroup,
    listener,
    classicLoadBalancer,
    builtInAlarms,
    siteUrl,
  };
}

/**
 * The zones of the new VPC's subnets: configured, or CDK's availability-zone lookup, never a guessed letter
 * (zone names map to other physical zones in each account, and not every account has every letter). `sst
 * deploy` resolves the lookup with the deploy's credentials (ec2:DescribeAvailabilityZones) and caches it in
 * cdk.context.json, so the zones stay put; the offline synthesis reads that cache, or shows CDK's placeholders.
 */
function subnetZones(stack: StackContext["stack"], config: StageConfig): string[] {
  return config.availabilityZones ?? stack.availabilityZones.slice(0, 2);
}

/** A new VPC with public subnets in two zones (or the configured ones) and flow logs, or the configured existing one. */
function environmentNetwork(stack: StackContext["stack"], config: StageConfig) {
  if (config.vpc) {
    const vpc = ec2.Vpc.fromVpcAttributes(stack, "Vpc", {
      vpcId: config.vpc.vpcId,
      availabilityZones: config.vpc.availabilityZones,
      publicSubnetIds: config.vpc.publicSubnetIds,
    });
    return { vpc, publicSubnets: vpc.publicSubnets, availabilityZones: config.vpc.availabilityZones };
  }
  const availabilityZones = subnetZones(stack, config);
  const vpc = new ec2.Vpc(stack, "Vpc", {
    availabilityZones,
    natGateways: 0,
    ipProtocol: config.ipv6 ? ec2.IpProtocol.DUAL_STACK : ec2.IpProtocol.IPV4_ONLY,
    subnetConfiguration: [{ name: "public", subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 }],
    restrictDefaultSecurityGroup: false,
  });
  vpc.addFlowLog("FlowLog", {
    destination: ec2.FlowLogDestination.toCloudWatchLogs(
      new logs.LogGroup(stack, "FlowLogGroup", {
        retention: logs.RetentionDays.THREE_MONTHS,
        removalPolicy: RemovalPolicy.DESTROY,
      }),
    ),
  });
  return { vpc, publicSubnets: vpc.publicSubnets, availabilityZones };
}
